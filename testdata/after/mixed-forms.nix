{ self, clan-core, ... }:
clan-core.lib.clan {
  inherit self;
  inventory = {
      instances.packages-editors = {
        module.name = "packages";
        roles.default.machines = { workstation = { }; };
      };
    instances.packages-editors.roles.default.settings.packages = [ "vim" "helix" ];
    instances = {
      mycelium-mesh.module.name = "mycelium";
      mycelium-mesh.roles.peer.tags = [ "all" ];
    };
  };
  inventory.instances.mycelium-mesh.roles.peer.settings.openFirewall = true;
}
