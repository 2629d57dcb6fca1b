{
  inventory.services.sshd.default = {
    roles.server.tags = [ "all" ];
    roles.client.tags = [ "all" ];
    machines.gateway.config.hostKeys.rsa.enable = true;
  };
}
