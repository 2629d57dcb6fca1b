{ clan-core, self, ... }:
clan-core.lib.clan {
  inherit self;
  # `${"…"}` keys are dynamic attributes in Nix: each may appear once per set.
  inventory.${"services"} = {
    importer.${"base"} = {
      roles.default.tags = [ "all" ];
    };
    trusted-nix-caches."default" = {
      roles.default.tags = [ "all" ];
    };
  };
}
