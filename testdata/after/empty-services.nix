{ self, clan-core, ... }:
clan-core.lib.clan {
  inherit self;
  inventory = {
    machines.jon = { };
  };
}
