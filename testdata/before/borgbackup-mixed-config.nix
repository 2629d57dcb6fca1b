{
  inventory.services.borgbackup.home = {
    roles.client.machines = [ "laptop" ];
    roles.server.machines = [ "nas" ];
    config = {
      destinations.nas.repo = "borg@nas:/srv/borgbackup/laptop";
      directory = "/srv/borgbackup";
      exclude = [ "*.iso" ];
    };
  };
}
