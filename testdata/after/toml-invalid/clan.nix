{
  inventory.services.sshd.default.roles.server.tags = [ "all" ];
}
