{ clan-core, self, ... }:
clan-core.lib.clan {
  inherit self;
  inventory.${"services"}.importer.${"base"} = {
    roles.default.tags = [ "all" ];
  };
  inventory."${"services"}".trusted-nix-caches."default" = {
    roles.default.tags = [ "all" ];
  };
}
