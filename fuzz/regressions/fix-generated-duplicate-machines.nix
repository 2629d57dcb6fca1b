{
  inventory.services = {
  # a comment
    sshd.i0 = {
      roles.server.machines = [ "a" "a" ];
      roles.server.machines = [ "a" "a" ];
      machines.a.config.directory = true;
    };
  };
}
