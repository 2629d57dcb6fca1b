{ self, clan-core, ... }:
let
  clanConfig = {
    inherit self;
    meta.name = "let-bound";
    inventory.services.admin.default = {
      roles.default.tags = [ "all" ];
    };
  };
in
clan-core.lib.clan clanConfig
