{
  inventory.machines.relay = { };
  inventory.machines.hub = { };
  inventory.services.zerotier.mesh = {
    roles.controller.machines = [ "hub" ];
    roles.moon.machines = [ "relay" ];
    # Per-machine settings, written as nested sets.
    machines = {
      relay = {
        config = {
          moon = {
            stableEndpoints = [ "198.51.100.7" ];
          };
        };
        extraModules = [ ];
      };
    };
    extraModules = [ ];
  };
  inventory.services.importer.base = {
    roles.default.tags = [ "all" ];
    roles.default.extraModules = [ ./modules/base.nix ];
    roles.default.imports = [ ./modules/extra.nix ];
  };
}
