# How the real clan-core trees of `trees` (../shared/clan-core-trees: see its
# README) are called, offline, with Nix 2.8:
#
# - `head`: the current clan-core (`inventory.instances`, `clanServices/`),
#   built the way its `lib/dir_test.nix` builds clanLib, with `clan.modules`
#   taken from `clanServices/*/default.nix`. `head.services inventory` is
#   `config._services.allServices` of `clanLib.clan { … }`.
# - `legacy`: the last clan-core with the legacy builder and `clanModules/`.
#   `legacy.machines inventory` is `clanInternals.inventoryClass.machines`: per
#   machine the builder's `compiledServices` and `machineImports` (the role
#   files and `clan.<service> = mkMerge [ … ]`), which `legacy.machineConfig`
#   evaluates (`_module.check = false`, no `pkgs`).
#
# `directory` is the clan directory both evaluations receive: an empty one, so
# that nothing (machines/, inventory.json) is read from it.
{ trees, directory }:
let
  libHead = import (trees + "/nixpkgs-lib/lib");
  libLegacy = import (trees + "/nixpkgs-lib-2508/lib");
  headTree = trees + "/clan-head";
  legacyTree = trees + "/clan-legacy";

  dirNames = path: builtins.attrNames (libHead.filterAttrs (_: t: t == "directory") (builtins.readDir path));

  headServices = builtins.filter (n: builtins.pathExists (headTree + "/clanServices/${n}/default.nix"))
    (dirNames (headTree + "/clanServices"));
  headModules = libHead.genAttrs headServices (n: import (headTree + "/clanServices/${n}/default.nix"));
  headClanLib =
    let
      orig = (import (headTree + "/lib") { lib = libHead; }).__unfix__;
    in libHead.fix (libHead.extends (final: _:
      let
        clan-core = {
          clanLib = final;
          modules.clan.default = libHead.modules.importApply (headTree + "/modules/clan") { inherit clan-core; };
          clan.modules = headModules;
          inputs = { };
        };
      in { clan = import (headTree + "/lib/clan") { lib = libHead; inherit clan-core; }; }) orig);

  legacyModules = dirNames (legacyTree + "/clanModules");
  legacyClanCore = {
    clanLib = import (legacyTree + "/lib") { lib = libLegacy; self = legacyClanCore; };
    clanModules = libLegacy.genAttrs legacyModules (n: legacyTree + "/clanModules/${n}");
    clan.modules = { };
    clan.templates = { };
    modules.clan.default = libLegacy.modules.importApply (legacyTree + "/lib/modules/clan") { clan-core = legacyClanCore; };
    inputs = { };
  };

  # With the clan's own `modules` (clan.service modules of this flake,
  # reached as `module.input = "self"`).
  allServicesWith = { inventory, modules ? { } }: (headClanLib.clan {
    # `module.input` names a flake input: clan-core is known as both names
    # public flakes give it.
    self.inputs = {
      nixpkgs.lib = libHead;
      clan-core.clan.modules = headModules;
      clan.clan.modules = headModules;
      self.clan.modules = modules;
    };
    inherit directory inventory modules;
  }).config._services.allServices;
in
{
  head = {
    lib = libHead;
    services = headServices;
    allServices = inventory: allServicesWith { inherit inventory; };
    inherit allServicesWith;
  };
  legacy = {
    lib = libLegacy;
    modules = legacyModules;
    moduleDir = name: legacyTree + "/clanModules/${name}";
    machines = inventory: (libLegacy.evalModules {
      specialArgs = { clan-core = legacyClanCore; inherit (legacyClanCore) clanLib; nix-darwin = { }; };
      modules = [
        legacyClanCore.modules.clan.default
        { self.inputs = { }; inherit directory inventory; }
      ];
    }).config.clanInternals.inventoryClass.machines;
    machineConfig = modules: (libLegacy.evalModules {
      modules = modules ++ [ { _module.check = false; _module.args.pkgs = throw "pkgs is not available here"; } ];
    }).config;
  };
}
