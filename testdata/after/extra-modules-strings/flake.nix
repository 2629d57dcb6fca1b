{
  inputs.clan.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";

  outputs =
    inputs@{ flake-parts, ... }:
    flake-parts.lib.mkFlake { inherit inputs; } {
      imports = [
        inputs.clan.flakeModules.default
        ./machines/flake-module.nix
      ];
    };
}
