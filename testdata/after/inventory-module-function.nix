{
  clan.inventory =
    { ... }:
    {
      instances.zerotier-home = {
        module.name = "zerotier";
        roles.controller.machines = { hub = { }; };
        roles.peer.tags = [ "all" ];
      };
    };
}
