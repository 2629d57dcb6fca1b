# Compares, per machine, what a clan's legacy clanModules give under the
# legacy clan-core builder (the clan before `port-module` and `fix`) with what
# the generated clan.service wrappers give under current clan-core (the clan
# after): for every ported service, the deep-forced `clan.<service>` option
# set, the legacy files the machine imports, and `clan.inventory.services.<service>`
# (lists of members as sets).
#
# `before`, `after`: clan files whose value is `{ modules ? {}; inventory; }`.
# `services`: the ported service names; `peers`: those whose legacy files read
# `clan.inventory.services.<service>` (the only ones with a shim). Returns
#   { before.<machine>.<service> = { clan; inventory; files; }; after… = …; }
{ trees, before, after, services, peers, directory }:
let
  real = import ../clan_core/trees.nix { inherit trees directory; };
  inherit (builtins) attrNames concatMap filter isAttrs isList isString listToAttrs map mapAttrs sort lessThan all;

  normalize = v:
    if isList v then
      (let l = map normalize v; in if all isString l then sort lessThan (real.head.lib.unique l) else l)
    else if isAttrs v then mapAttrs (_: normalize) v
    else v;

  # The files of a module's directory a machine imports, relative to it (the
  # module graph names a module defined inline by its file and the option it
  # came through; those are not files).
  filesOf = dir: graph:
    let
      walk = node: [ (toString node.file) ] ++ concatMap walk node.imports;
      prefix = toString dir + "/";
      inDir = f: real.head.lib.hasPrefix prefix f && !(real.head.lib.hasInfix ", via " f);
    in sort lessThan (real.head.lib.unique
      (map (f: real.head.lib.removePrefix prefix f) (filter inDir (concatMap walk graph))));

  # Instances are named differently after the migration: the shim's instances
  # compare as a sorted list.
  instancesOf = v: if v == null then null else sort (a: b: builtins.toJSON a < builtins.toJSON b) (builtins.attrValues v);

  observe = eval: dirs: listToAttrs (map (svc: {
    name = svc;
    value = {
      clan = normalize (builtins.deepSeq (eval.config.clan.${svc} or null) (eval.config.clan.${svc} or null));
      inventory = if builtins.elem svc peers
        then instancesOf (normalize (eval.config.clan.inventory.services.${svc} or null))
        else null;
      files = filesOf dirs.${svc} eval.graph;
    };
  }) services);

  stub = { _module.check = false; _module.args.pkgs = throw "pkgs is not available here"; };

  beforeClan = import before;
  legacyDirs = real.head.lib.genAttrs services (svc: beforeClan.inventory.modules.${svc});
  legacy = mapAttrs (_: machine:
    observe (real.legacy.lib.evalModules {
      modules = machine.machineImports ++ [
        (trees + "/clan-legacy/nixosModules/clanCore/inventory/interface.nix")
        stub
      ];
    }) legacyDirs) (real.legacy.machines beforeClan.inventory);

  afterClan = import after;
  allServices = real.head.allServicesWith {
    inventory = afterClan.inventory;
    modules = afterClan.modules or { };
  };
  afterDirs = real.head.lib.genAttrs services (svc: dirOf afterClan.modules.${svc});
  machinesAfter = attrNames afterClan.inventory.machines;
  head = listToAttrs (map (m: {
    name = m;
    value = observe (real.head.lib.evalModules {
      modules = concatMap (service:
        if service.result.final ? ${m} then [ service.result.final.${m}.nixosModule ] else [ ])
        (builtins.attrValues allServices) ++ [ stub ];
    }) afterDirs;
  }) machinesAfter);
in
{
  before = legacy;
  after = head;
}
