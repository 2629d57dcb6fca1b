{
  inventory.machines = {
    gateway = { tags = [ "edge" ]; };
    laptop = { };
  };
  inventory.tags.backup = [ "gateway" ];
  inventory.instances.sshd-default = {
    module.name = "sshd";
    roles.server.tags = [ "edge" ];
    roles.client.tags = [ "all" ];
    # gateway is a server (tag `edge`) and a client (tag `all`).
    roles.server.machines.gateway.settings.hostKeys.rsa.enable = true;
    roles.client.machines.laptop.settings.certificate.searchDomains = [ "lan" ];
  };
}
