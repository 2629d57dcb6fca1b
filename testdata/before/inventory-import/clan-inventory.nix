{
  machines = {
    alpha = { tags = [ "servers" ]; };
    beta = { tags = [ "servers" ]; };
  };
  services = {
    sshd.servers = {
      roles.server.tags = [ "servers" ];
    };
    zerotier.home = {
      roles.controller.machines = [ "alpha" ];
      roles.peer.tags = [ "servers" ];
    };
  };
}
