{ self, clan-core, ... }:
clan-core.lib.clan {
  inherit self;
  inventory = {
    services.packages = {
      editors = {
        roles.default.machines = [ "workstation" ];
      };
    };
    services.packages.editors.config.packages = [ "vim" "helix" ];
    services = {
      mycelium.mesh.roles.peer.tags = [ "all" ];
    };
  };
  inventory.services.mycelium.mesh.config.openFirewall = true;
}
