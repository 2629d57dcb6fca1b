{
  description = "clan-migrate: migrate legacy Clan services to instances, and lint both";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      manifest = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).package;
      package =
        pkgs:
        pkgs.rustPlatform.buildRustPackage {
          pname = manifest.name;
          inherit (manifest) version;
          src = pkgs.lib.cleanSource ./.;
          cargoLock.lockFile = ./Cargo.lock;
          # The test suite runs nix-instantiate and reads clan trees it is
          # given from outside; `cargo test` (or .ci/run) runs it.
          doCheck = false;
          meta = {
            inherit (manifest) description;
            license = pkgs.lib.licenses.mit;
            mainProgram = "clan-migrate";
          };
        };
    in
    {
      packages = forAllSystems (pkgs: {
        default = package pkgs;
        clan-migrate = package pkgs;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${package pkgs}/bin/clan-migrate";
        };
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            cargo
            rustc
            clippy
            rustfmt
            nix
            hyperfine
            ripgrep
          ];
        };
      });

      overlays.default = final: _prev: { clan-migrate = package final; };

      # A check for a clan's own flake: fails while `clan-migrate check`
      # reports anything in `src`.
      #   checks.x86_64-linux.clan-migrate = clan-migrate.lib.mkCheck {
      #     pkgs = nixpkgs.legacyPackages.x86_64-linux;
      #     src = self;
      #   };
      lib.mkCheck =
        {
          pkgs,
          src,
          args ? [ ],
        }:
        pkgs.runCommand "clan-migrate-check"
          {
            nativeBuildInputs = [ (package pkgs) ];
          }
          ''
            cd ${src}
            clan-migrate check --format concise ${pkgs.lib.escapeShellArgs args} .
            touch $out
          '';
    };
}
