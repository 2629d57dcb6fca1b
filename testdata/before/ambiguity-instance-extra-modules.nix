{
  inventory.services.importer.base = {
    roles.default.tags = [ "all" ];
    extraModules = [ ./modules/base.nix ];
  };
}
