{ self, clan-core, ... }:
let
  clanConfig = {
    inherit self;
    meta.name = "let-bound";
    inventory.instances.admin-default = {
      module.name = "admin";
      roles.default.tags = [ "all" ];
    };
  };
in
clan-core.lib.clan clanConfig
