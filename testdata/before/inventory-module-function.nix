{
  clan.inventory =
    { ... }:
    {
      services.zerotier.home = {
        roles.controller.machines = [ "hub" ];
        roles.peer.tags = [ "all" ];
      };
    };
}
