{ clan-core, self, ... }:
clan-core.lib.clan {
  inherit self;
  meta.name = "split";
  inventory.instances.borgbackup-nightly.module.name = "borgbackup";
  inventory.instances.borgbackup-nightly.roles.client.machines = { laptop = { }; desktop = { }; };
  inventory.instances.borgbackup-nightly.roles.server.machines = { nas = { }; };
  inventory.instances.borgbackup-nightly.roles.server.settings.directory = "/srv/borgbackup";

  inventory.instances.borgbackup-nightly.roles.client.settings = {
    destinations.nas.repo = "borg@nas:/srv/borgbackup/laptop";
  };
}
