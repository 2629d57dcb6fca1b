# `backup` is a tag no machine carries. Legacy clan warned "no machine with
# tag 'backup' found" and dropped the members of the tags before it: only
# `nas` ran the client. The new format would add every `office` machine.
# Remove `backup` to keep the office machines, or `office` to keep what
# legacy deployed.
{
  inventory.machines = {
    nas = { };
    desk = { tags = [ "office" ]; };
  };
  inventory.services.borgbackup.office = {
    roles.server.machines = [ "nas" ];
    roles.client.machines = [ "nas" ];
    roles.client.tags = [ "office" "backup" ];
  };
}
