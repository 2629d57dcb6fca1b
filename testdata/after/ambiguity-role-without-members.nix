# The client role has config but no members: legacy applied it to no machine,
# and `directory` belongs to the servers, so the new format has no place for
# it. Left for the user to delete (or to add the clients it was meant for).
{
  inventory.machines.nas = { };
  inventory.services.borgbackup.home = {
    roles.client.config.directory = "/srv/borg";
    roles.server.machines = [ "nas" ];
  };
}
