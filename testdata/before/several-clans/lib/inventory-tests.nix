# Unit tests that build several inventories in one file: each call is a clan
# of its own.
{ buildInventory, createTestClan, ... }:
{
  test_empty_service =
    (buildInventory {
      directory = ./.;
      inventory = {
        machines.a = { };
        services = {
          legacyModule = { };
        };
      };
    }).machines;

  test_borgbackup = buildInventory {
    directory = ./.;
    inventory = {
      machines.backup = { tags = [ "server" ]; };
      machines.laptop = { };
      services.borgbackup.instance_1 = {
        roles.server.tags = [ "server" ];
        roles.client.machines = [ "laptop" ];
      };
    };
  };

  test_borgbackup_other_machines = buildInventory {
    directory = ./.;
    inventory = {
      machines.nas = { };
      services.borgbackup.instance_1 = {
        roles.server.machines = [ "nas" ];
        roles.client.tags = [ "all" ];
        machines.nas.config.directory = "/srv/borg";
      };
    };
  };

  # No directory and no `self`: a test harness, not the flake's clan.
  test_harness = createTestClan {
    inventory = {
      machines.jon = { };
      instances.sshd-default = {
        module.name = "sshd";
        roles.server.machines.jon.settings.hostKeys.rsa.enable = true;
      };
    };
  };
}
