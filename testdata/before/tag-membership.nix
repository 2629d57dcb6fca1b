{
  inventory.machines = {
    gateway = { tags = [ "edge" ]; };
    laptop = { };
  };
  inventory.tags.backup = [ "gateway" ];
  inventory.services.sshd.default = {
    roles.server.tags = [ "edge" ];
    roles.client.tags = [ "all" ];
    # gateway is a server (tag `edge`) and a client (tag `all`).
    machines.gateway.config.hostKeys.rsa.enable = true;
    machines.laptop.config.certificate.searchDomains = [ "lan" ];
  };
}
