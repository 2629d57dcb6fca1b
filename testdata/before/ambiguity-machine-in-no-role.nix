{
  inventory.services.sshd.default = {
    roles.server.machines = [ "web" ];
    # `ghost` is in no role: legacy ignored this config.
    machines.ghost.config.hostKeys.rsa.enable = true;
  };
}
