# Loads the inventory a file defines, the way Nix evaluates it, with the inputs
# a flake would receive stubbed (clan-core's `buildClan` / `clan` return their
# argument, `lib.mkMerge` merges, `mkIf` / priorities are read through).
# Shared by the model (resolve.nix) and the real clan-core evaluation
# (tests/clan_core/evaluate.nix).
#
# `asInventory`: the file's value is itself an inventory (a file named inventory.nix).
# `userTable`: a clan-migrate.toml whose `[modules.*]` extend the module table.
# Returns { inventory; table; helpers; }.
{ file, asInventory ? false, userTable ? null }:
let
  inherit (builtins)
    attrNames filter foldl' functionArgs intersectAttrs isAttrs isFunction isList isPath
    isString listToAttrs map mapAttrs sort lessThan elem concatMap any all length
    head fromTOML readFile toString hasAttr;

  table = (fromTOML (readFile ../../src/inventory/modules.toml)).modules
    // (if userTable == null then { } else (fromTOML (readFile userTable)).modules or { });

  deepMerge = a: b:
    if isAttrs a && isAttrs b then
      a // mapAttrs (k: v: if hasAttr k a then deepMerge a.${k} v else v) b
    else if isList a && isList b then a ++ b
    else b;
  mergeAll = foldl' deepMerge { };

  # Lists of strings are compared as sets; everything else as is.
  normalize = v:
    if isList v then
      (let l = map normalize v; in if all isString l then sort lessThan l else l)
    else if isAttrs v then mapAttrs (_: normalize) v
    else v;

  unique = l: foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ] l;

  clanConfigStub = x: { nixosConfigurations = x; clanInternals = x; };
  clan-core = {
    lib.buildClan = clanConfigStub;
    lib.clan = x: { config = clanConfigStub x; };
    flakeModules.default = { };
  };
  stubs = rec {
    self = { };
    inherit clan-core;
    clan = clan-core;
    flake-parts.lib.mkFlake = _: m: m;
    nixpkgs = { };
    inputs = { inherit self clan-core clan flake-parts nixpkgs; };
    lib = {
      mkMerge = mergeAll;
      mkIf = c: x: if c then x else { };
      mkDefault = x: x;
      mkForce = x: x;
      mkOverride = _: x: x;
      genAttrs = names: f: listToAttrs (map (n: { name = n; value = f n; }) names);
    };
    config = { };
    pkgs = { };
  };
  call = f:
    if isFunction f then
      f (if functionArgs f == { } then stubs else intersectAttrs (functionArgs f) stubs)
    else f;
  load = p: call (import p);

  # Every inventory definition reachable from a module-like value.
  inventoriesOf = v:
    let
      v' = call v;
      # Nix calls a flake's outputs with all of its inputs.
      fromFlake = if v' ? outputs then inventoriesOf (v'.outputs stubs.inputs) else [ ];
      clanOf = x: if x ? clanInternals then [ x.clanInternals ] else if x ? config then clanOf x.config else [ ];
      configs = clanOf v' ++ [ v' ] ++ (if v' ? clan then [ v'.clan ] else [ ])
        ++ (if v' ? flake && v'.flake ? clan then [ v'.flake.clan ] else [ ]);
      # An inventory can be a module function too.
      own = concatMap (c: if isAttrs c && c ? inventory then [ (call c.inventory) ] else [ ]) configs;
      imported = concatMap
        (c: if isAttrs c && c ? imports then concatMap (i: if isPath i || isString i then inventoriesOf (import i) else if isAttrs i then inventoriesOf i else [ ]) c.imports else [ ])
        (unique configs);
      inventoryImports = concatMap
        (inv: if inv ? imports then map (i: if isPath i then load i else i) inv.imports else [ ])
        own;
    in
    if !(isAttrs v') then [ ] else fromFlake ++ own ++ inventoryImports ++ imported;

  isJson = builtins.match ".*[.]json" (toString file) != null;
  topLevel =
    if isJson then [ (builtins.fromJSON (readFile file)) ]
    else if asInventory then [ (call (import file)) ]
    else inventoriesOf (import file);
  inventory = mergeAll (map (i: removeAttrs i [ "imports" ]) topLevel);
in
{
  inherit inventory table;
  helpers = { inherit deepMerge mergeAll normalize unique; };
}
