{ self, clan-core, ... }:
let
  shared = import ../shared.nix;
in
clan-core.lib.clan {
  inherit self;
  inventory = {
    inherit (shared) services machines;
  };
}
