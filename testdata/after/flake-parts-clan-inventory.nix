{ inputs, ... }:
{
  imports = [ inputs.clan-core.flakeModules.default ];

  clan.meta.name = "mesh";
  clan.inventory = {
    instances.zerotier-default = {
      module.name = "zerotier";
      roles.controller.machines = { controller = { }; };
      roles.peer.machines = { new_machine = { }; };
    };
  };
}
