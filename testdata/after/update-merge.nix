{ self, clan-core, ... }:
let
  base = import ./shared-services.nix;
in
clan-core.lib.clan {
  inherit self;
  inventory.services = base // {
    sshd.default.roles.server.tags = [ "all" ];
  };
}
