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
      instances.borgbackup-web = {
        module.name = "borgbackup";
        roles.client.machines = builtins.listToAttrs (map (name: { inherit name; value = { }; }) webServers);
        roles.server.machines = { nas = { }; };
      };
    };
}
