{
  # Ensure this is unique among all clans you want to use.
  meta.name = "__CHANGE_ME__";

  inventory.machines = {
    server = {
      tags = [ "backup" ];
    };
  };

  # Docs: See https://docs.clan.lol/reference/clanServices
  inventory.instances.sshd-default = {
    module = { name = "sshd"; input = "clan-core"; };
    roles.server.tags = [ "all" ];
  };
  inventory.services.state-version.default.roles.default.tags = [ "all" ];

  # Additional NixOS configuration can be added here.
  machines = {
    server = { config, ... }: {
      services.openssh.enable = true;
    };
  };
}
