{ clan-core, self, ... }:
clan-core.lib.clan {
  inherit self;
  inventory.instances.importer-base = {
    module.name = "importer";
    roles.default.tags = [ "all" ];
  };
  inventory.instances.trusted-nix-caches-default = {
    module.name = "trusted-nix-caches";
    roles.default.tags = [ "all" ];
  };
}
