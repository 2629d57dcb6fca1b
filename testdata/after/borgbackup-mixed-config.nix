{
  inventory.instances.borgbackup-home = {
    module.name = "borgbackup";
    roles.client.machines = { laptop = { }; };
    roles.server.machines = { nas = { }; };
    roles.client.settings.destinations.nas.repo = "borg@nas:/srv/borgbackup/laptop";
    roles.server.settings.directory = "/srv/borgbackup";
    roles.client.settings.exclude = [ "*.iso" ];
  };
}
