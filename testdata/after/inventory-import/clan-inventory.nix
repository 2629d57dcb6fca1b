{
  machines = {
    alpha = { tags = [ "servers" ]; };
    beta = { tags = [ "servers" ]; };
  };
  instances = {
    sshd-servers = {
      module = { name = "sshd"; input = "clan-core"; };
      roles.server.tags = [ "servers" ];
    };
    zerotier-home = {
      module = { name = "zerotier"; input = "clan-core"; };
      roles.controller.machines = { alpha = { }; };
      roles.peer.tags = [ "servers" ];
    };
  };
}
