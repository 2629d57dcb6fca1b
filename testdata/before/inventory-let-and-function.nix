{ self, clan-core, ... }:
clan-core.lib.clan {
  inherit self;
  inventory =
    let
      # Both web servers back up to the NAS.
      webServers = [ "web01" "web02" ];
    in
    {
      machines.web01 = { };
      machines.web02 = { };
      machines.nas = { };
      services.borgbackup.web = {
        roles.client.machines = webServers;
        roles.server.machines = [ "nas" ];
      };
    };
}
