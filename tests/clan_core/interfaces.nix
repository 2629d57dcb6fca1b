# Checks clan-migrate's module table (src/inventory/modules.toml) against the
# real modules: for every legacy module the table migrates (`migrated`,
# `renamed`), the roles of its clan.service are the table's `roles`, and every
# option the legacy role files declare under `clan.<module>` either goes, after
# the table's `renames`, to exactly the roles whose interface declares it
# (`keys`), or is `dropped`.
#
# Returns { checked = [ <module> … ]; mismatches = [ "<module>: <what differs>" … ]; }.
{ trees, directory }:
let
  real = import ./trees.nix { inherit trees directory; };
  lib = real.head.lib;
  inherit (builtins) attrNames concatMap elem filter head map sort lessThan;

  table = (fromTOML (builtins.readFile ../../src/inventory/modules.toml)).modules;
  fromTOML = builtins.fromTOML;

  # The roles of a clan.service and the options each declares.
  headRoles = svc:
    let
      roleNames = attrNames (real.head.allServices {
        machines.probe = { };
        instances.probe = { module.name = svc; roles = { }; };
      })."<clan-core>-${svc}".roles;
      probe = (real.head.allServices {
        machines.probe = { };
        instances.probe = {
          module.name = svc;
          roles = lib.genAttrs roleNames (_: { machines.probe = { }; });
        };
      })."<clan-core>-${svc}".instances.probe.roles;
    in lib.mapAttrs (_: role: filter (o: o != "_module") (attrNames role.machines.probe.finalSettings.options)) probe;

  # The options the legacy role files declare under `clan.<name>`.
  legacyOptions = name:
    let
      dir = real.legacy.moduleDir name + "/roles";
      files = if builtins.pathExists dir
        then filter (lib.hasSuffix ".nix") (attrNames (builtins.readDir dir)) else [ ];
      options = (real.legacy.lib.evalModules {
        modules = map (f: dir + "/${f}") files
          ++ [ { _module.check = false; _module.args.pkgs = throw "pkgs is not available here"; } ];
      }).options;
    in attrNames (options.clan.${name} or { });

  splitDots = s: filter builtins.isString (builtins.split "[.]" s);
  sorted = sort lessThan;

  check = name:
    let
      info = table.${name};
      svc = info.new_name or name;
      roles = headRoles svc;
      renames = info.renames or { };
      dropped = info.dropped or [ ];
      keys = info.keys or { };
      # The new top-level keys a legacy top-level option becomes.
      newTops = option:
        let
          exact = filter (old: old == option) (attrNames renames);
          nested = filter (old: lib.hasPrefix "${option}." old) (attrNames renames);
        in
        if exact != [ ] then [ (head (splitDots renames.${head exact})) ]
        else if nested != [ ] then lib.unique (map (old: head (splitDots renames.${old})) nested)
        else [ option ];
      declaring = option: sorted (filter (r: builtins.any (t: elem t roles.${r}) (newTops option)) (attrNames roles));
      isDropped = option: builtins.any (d: d == option || lib.hasPrefix "${option}." d) dropped;
      roleMismatch = lib.optional (sorted (attrNames roles) != sorted (info.roles or [ ]))
        "${name}: roles ${builtins.toJSON (sorted (info.roles or [ ]))} in the table, ${builtins.toJSON (sorted (attrNames roles))} in clan.service ${svc}";
      optionMismatches = concatMap (option:
        if elem option dropped then [ ]
        else if !(keys ? ${option}) then
          (if isDropped option then [ ]
           else [ "${name}: legacy option `${option}` is neither in `keys` nor `dropped` (declared by ${builtins.toJSON (declaring option)} in ${svc})" ])
        else if sorted keys.${option} != declaring option then
          [ "${name}: `${option}` goes to ${builtins.toJSON (sorted keys.${option})} in the table, declared by ${builtins.toJSON (declaring option)} in ${svc}" ]
        else [ ]) (legacyOptions name);
      staleKeys = concatMap (k: lib.optional (!(elem k (legacyOptions name)))
        "${name}: `keys` lists `${k}`, which the legacy module does not declare") (attrNames keys);
    in roleMismatch ++ optionMismatches ++ staleKeys;

  checked = filter (name: elem (table.${name}.status or "") [ "migrated" "renamed" ] && elem name real.legacy.modules)
    (attrNames table);
in
{
  inherit checked;
  mismatches = concatMap check checked;
}
