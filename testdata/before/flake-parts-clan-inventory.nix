{ inputs, ... }:
{
  imports = [ inputs.clan-core.flakeModules.default ];

  clan.meta.name = "mesh";
  clan.inventory = {
    services.zerotier.default = {
      roles.controller.machines = [ "controller" ];
      roles.peer.machines = [ "new_machine" ];
    };
  };
}
