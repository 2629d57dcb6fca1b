{ self, clan-core, ... }:
clan-core.lib.clan {
  inherit self;
  inventory = {
    machines.jon = { };
    services = { };
  };
  inventory.services.borgbackup = { };
}
