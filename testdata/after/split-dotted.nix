{ clan-core, self, ... }:
clan-core.lib.clan {
  inherit self;
  meta.name = "split";
  inventory.services.borgbackup.nightly.roles.client.machines = [ "laptop" "desktop" ];
  inventory.services.borgbackup.nightly.roles.server.machines = [ "nas" ];
  inventory.services.borgbackup.nightly.roles.server.config.directory = "/srv/borgbackup";

  inventory.services.borgbackup.nightly.config = {
    destinations.nas.repo = "borg@nas:/srv/borgbackup/laptop";
  };
}
