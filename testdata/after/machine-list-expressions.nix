# Machine lists whose items are not all string literals: only evaluation knows
# the names, so `fix` keeps each list as it is and turns it into an attribute
# set with `builtins.listToAttrs`.
let
  web = "web";
  backupHosts = [ "db" ];
in
{
  inventory.machines = {
    web = { };
    db = { };
    mail = { };
  };
  inventory.instances.sshd-base = {
    module.name = "sshd";
    roles.server.machines = builtins.listToAttrs (map (name: { inherit name; value = { }; }) [
      web
      "mail"
    ]);
    roles.client.machines = builtins.listToAttrs (map (name: { inherit name; value = { }; }) (backupHosts ++ [ web ]));
  };
}
