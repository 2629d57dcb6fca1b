# A buildClan call with custom inventory modules next to their services.
{ self, clan-core, ... }:
clan-core.lib.buildClan {
  directory = self;
  meta.name = "lab";
  inventory.modules = {
    custom-module = ./modules/my_module;
  };
  inventory.services = {
    custom-module.instance_1 = {
      roles.default.machines = [ "machineA" ];
      roles.default.config = {
        foo = "foobar";
      };
    };
  };
}
