let
  serverSettings = { directory = "/srv/borgbackup"; };
in
{
  inventory.services.borgbackup.home = {
    roles.client.machines = [ "laptop" ];
    roles.server.machines = [ "nas" ];
    roles.server.config = serverSettings;
    config.directory = "/srv/borg";
  };
}
