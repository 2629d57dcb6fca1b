{ clan-core, self, ... }:
clan-core.lib.clan {
  inherit self;
  # `${"…"}` keys are dynamic attributes in Nix: each may appear once per set.
  inventory.instances = {
    importer-base = {
      module.name = "importer";
      roles.default.tags = [ "all" ];
    };
    trusted-nix-caches-default = {
      module.name = "trusted-nix-caches";
      roles.default.tags = [ "all" ];
    };
  };
}
