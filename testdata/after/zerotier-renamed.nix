{
  inventory.machines.router = { };
  # Legacy network `home`…
  inventory.instances.zerotier-home = {
    module.name = "zerotier";
    roles.controller.machines = { router = { }; };
    roles.peer.tags = [ "all" ];
  };
  # …and, hand-written next to it, a new instance of another name.
  inventory.instances.mesh = {
    module.name = "zerotier";
    roles.controller.machines.router = { };
  };
}
