# The client config reaches `nas` as a server too (not `offsite`, which is no
# client), so `nas` gets it per machine in `roles.server.machines.nas.settings`,
# written where the config is: above `roles.server.machines`, and Nix does not
# merge a set defined after its attributes. Moving the machine list up makes
# it certain.
{
  inventory.machines = {
    nas = { };
    offsite = { };
    laptop = { };
  };
  inventory.services.borgbackup.home = {
    roles.client.machines = [ "laptop" "nas" ];
    roles.client.config.directory = "/srv/borg";
    roles.server.machines = [ "nas" "offsite" ];
  };
}
