//! Robot data: 36 robots, six per element (two T1 including one starter, two T2, two T3).
//! `strong_vs`/`weak_vs` come from the element chart so the two can never disagree.

use super::{Biome, Element, RobotDef, Tier};

#[allow(clippy::too_many_arguments)]
const fn bot(
    slug: &'static str,
    display_name: &'static str,
    element: Element,
    tier: Tier,
    stats: [u32; 4],
    energy: [u32; 2],
    biome_bonus: &'static [(Biome, u32)],
    gmo_cost: i64,
    is_starter: bool,
    skills: &'static [&'static str],
    sprite_atlas: &'static str,
) -> RobotDef {
    RobotDef {
        slug,
        display_name,
        element,
        tier,
        base_hp: stats[0],
        base_attack: stats[1],
        base_defense: stats[2],
        base_speed: stats[3],
        base_energy: energy[0],
        energy_regen: energy[1],
        strong_vs: element.strong_vs(),
        weak_vs: element.weak_vs(),
        biome_bonus,
        gmo_cost,
        is_starter,
        sprite_atlas,
        skills,
    }
}

use Biome::*;
use Element::*;
use Tier::*;

/// The whole catalog. Hp+attack+defense+speed is roughly 240-285 for T1, 275-310 for T2 and
/// 290-365 for T3; hp was tuned by simulation (HARD trees) so robots of one tier are even, and
/// the starters were tuned with the default tree (see tests/sim_balance.rs). Columns: slug, name, element, tier, [hp, attack, defense, speed],
/// [energy, regen], biome bonus, GMO cost, starter, skills, sprite atlas.
#[rustfmt::skip]
pub static ROBOTS: [RobotDef; 36] = [
    bot("volt-striker-mk1", "Volt Striker Mk.I", Volt, T1, [80, 65, 40, 75], [10, 3], &[(City, 15), (Grassland, 5)], 500, true, &["heal_burst", "overcharge_strike", "chain_lightning"], "robots/volt/striker_mk1.json"),
    bot("volt-spark-scout", "Spark Scout", Volt, T1, [89, 62, 38, 95], [10, 3], &[(City, 10)], 800, false, &["heal_burst", "overcharge_strike", "chain_lightning", "focus_core"], "robots/volt/spark_scout.json"),
    bot("volt-arc-lancer", "Arc Lancer", Volt, T2, [97, 75, 45, 82], [11, 3], &[(City, 15), (Desert, 5)], 1500, false, &["heal_burst", "chain_lightning", "thunder_lance"], "robots/volt/arc_lancer.json"),
    bot("volt-storm-warden", "Storm Warden", Volt, T2, [93, 65, 60, 65], [11, 3], &[(Grassland, 10), (City, 5)], 1800, false, &["heal_burst", "barrier", "overcharge_strike", "chain_lightning"], "robots/volt/storm_warden.json"),
    bot("volt-thunder-titan", "Thunder Titan", Volt, T3, [122, 80, 60, 65], [12, 3], &[(City, 15), (Wasteland, 5)], 3500, false, &["heal_burst", "overcharge_strike", "chain_lightning", "thunder_lance"], "robots/volt/thunder_titan.json"),
    bot("volt-tempest-prime", "Tempest Prime", Volt, T3, [102, 85, 50, 90], [12, 4], &[(City, 20)], 5000, false, &["heal_burst", "focus_core", "chain_lightning", "thunder_lance", "barrier"], "robots/volt/tempest_prime.json"),
    bot("cryo-sentinel-mk1", "Cryo Sentinel Mk.I", Cryo, T1, [83, 60, 45, 63], [10, 3], &[(Arctic, 15), (City, 5)], 500, true, &["heal_burst", "overcharge_strike", "frost_lance"], "robots/cryo/sentinel_mk1.json"),
    bot("cryo-ice-skater", "Ice Skater", Cryo, T1, [67, 60, 40, 90], [10, 3], &[(Arctic, 10)], 800, false, &["heal_burst", "overcharge_strike", "frost_lance", "barrier"], "robots/cryo/ice_skater.json"),
    bot("cryo-glacier-guard", "Glacier Guard", Cryo, T2, [98, 60, 70, 45], [11, 3], &[(Arctic, 15), (Wasteland, 5)], 1500, false, &["heal_burst", "frost_lance", "glacier_shell"], "robots/cryo/glacier_guard.json"),
    bot("cryo-blizzard-reaver", "Blizzard Reaver", Cryo, T2, [99, 75, 50, 72], [11, 3], &[(Arctic, 10), (Grassland, 5)], 1800, false, &["heal_burst", "overcharge_strike", "frost_lance", "focus_core"], "robots/cryo/blizzard_reaver.json"),
    bot("cryo-permafrost-colossus", "Permafrost Colossus", Cryo, T3, [107, 70, 75, 40], [12, 3], &[(Arctic, 20)], 3500, false, &["heal_burst", "overcharge_strike", "frost_lance", "glacier_shell"], "robots/cryo/permafrost_colossus.json"),
    bot("cryo-absolute-zero", "Absolute Zero", Cryo, T3, [98, 85, 55, 80], [12, 4], &[(Arctic, 15), (City, 5)], 5000, false, &["heal_burst", "focus_core", "frost_lance", "glacier_shell", "overcharge_strike"], "robots/cryo/absolute_zero.json"),
    bot("iron-bulwark-mk1", "Iron Bulwark Mk.I", Iron, T1, [88, 57, 52, 44], [10, 3], &[(Wasteland, 15), (Volcanic, 5)], 500, true, &["heal_burst", "overcharge_strike", "iron_wall"], "robots/iron/bulwark_mk1.json"),
    bot("iron-rivet-brawler", "Rivet Brawler", Iron, T1, [75, 68, 55, 47], [10, 3], &[(Wasteland, 10)], 800, false, &["heal_burst", "overcharge_strike", "iron_wall", "rail_slam"], "robots/iron/rivet_brawler.json"),
    bot("iron-steel-juggernaut", "Steel Juggernaut", Iron, T2, [115, 65, 75, 30], [11, 3], &[(Wasteland, 15), (City, 5)], 1500, false, &["heal_burst", "iron_wall", "rail_slam"], "robots/iron/steel_juggernaut.json"),
    bot("iron-anvil-knight", "Anvil Knight", Iron, T2, [98, 72, 62, 51], [11, 3], &[(Volcanic, 10), (Wasteland, 5)], 1800, false, &["heal_burst", "barrier", "overcharge_strike", "rail_slam"], "robots/iron/anvil_knight.json"),
    bot("iron-forge-titan", "Forge Titan", Iron, T3, [133, 78, 80, 27], [12, 3], &[(Wasteland, 20)], 3500, false, &["heal_burst", "overcharge_strike", "iron_wall", "rail_slam"], "robots/iron/forge_titan.json"),
    bot("iron-adamant-prime", "Adamant Prime", Iron, T3, [125, 82, 70, 53], [12, 4], &[(Wasteland, 15), (Volcanic, 5)], 5000, false, &["heal_burst", "focus_core", "iron_wall", "rail_slam", "repair_protocol"], "robots/iron/adamant_prime.json"),
    bot("pyro-scorcher-mk1", "Pyro Scorcher Mk.I", Pyro, T1, [78, 68, 42, 74], [10, 3], &[(Volcanic, 15), (Desert, 5)], 500, true, &["heal_burst", "overcharge_strike", "flame_burst"], "robots/pyro/scorcher_mk1.json"),
    bot("pyro-ember-imp", "Ember Imp", Pyro, T1, [79, 66, 36, 93], [10, 3], &[(Volcanic, 10)], 800, false, &["heal_burst", "overcharge_strike", "flame_burst", "focus_core"], "robots/pyro/ember_imp.json"),
    bot("pyro-flame-dancer", "Flame Dancer", Pyro, T2, [100, 78, 42, 85], [11, 3], &[(Volcanic, 15), (Desert, 5)], 1500, false, &["heal_burst", "flame_burst", "inferno"], "robots/pyro/flame_dancer.json"),
    bot("pyro-magma-brute", "Magma Brute", Pyro, T2, [100, 75, 60, 40], [11, 3], &[(Volcanic, 10), (Wasteland, 5)], 1800, false, &["heal_burst", "barrier", "overcharge_strike", "flame_burst"], "robots/pyro/magma_brute.json"),
    bot("pyro-inferno-drake", "Inferno Drake", Pyro, T3, [115, 90, 50, 75], [12, 3], &[(Volcanic, 20)], 3500, false, &["heal_burst", "overcharge_strike", "flame_burst", "inferno"], "robots/pyro/inferno_drake.json"),
    bot("pyro-phoenix-prime", "Phoenix Prime", Pyro, T3, [143, 85, 50, 85], [12, 4], &[(Volcanic, 15), (Desert, 5)], 5000, false, &["heal_burst", "focus_core", "flame_burst", "inferno", "repair_protocol"], "robots/pyro/phoenix_prime.json"),
    bot("bio-thorn-mk1", "Bio Thorn Mk.I", Bio, T1, [84, 61, 46, 58], [10, 3], &[(Grassland, 15), (Wasteland, 5)], 500, true, &["heal_burst", "overcharge_strike", "spore_cloud"], "robots/bio/thorn_mk1.json"),
    bot("bio-vine-lasher", "Vine Lasher", Bio, T1, [83, 64, 46, 70], [10, 3], &[(Grassland, 10)], 800, false, &["heal_burst", "overcharge_strike", "spore_cloud", "regrowth"], "robots/bio/vine_lasher.json"),
    bot("bio-spore-shaman", "Spore Shaman", Bio, T2, [125, 62, 58, 65], [11, 3], &[(Grassland, 15), (Arctic, 5)], 1500, false, &["heal_burst", "spore_cloud", "regrowth"], "robots/bio/spore_shaman.json"),
    bot("bio-toxin-stalker", "Toxin Stalker", Bio, T2, [107, 76, 46, 78], [11, 3], &[(Wasteland, 10), (Grassland, 5)], 1800, false, &["heal_burst", "overcharge_strike", "spore_cloud", "focus_core"], "robots/bio/toxin_stalker.json"),
    bot("bio-hydra-beast", "Hydra Beast", Bio, T3, [138, 78, 65, 47], [12, 3], &[(Grassland, 20)], 3500, false, &["heal_burst", "overcharge_strike", "spore_cloud", "regrowth"], "robots/bio/hydra_beast.json"),
    bot("bio-gaia-prime", "Gaia Prime", Bio, T3, [93, 80, 60, 65], [12, 4], &[(Grassland, 15), (Volcanic, 5)], 5000, false, &["heal_burst", "barrier", "spore_cloud", "regrowth", "overcharge_strike"], "robots/bio/gaia_prime.json"),
    bot("nano-weaver-mk1", "Nano Weaver Mk.I", Nano, T1, [81, 62, 45, 66], [10, 3], &[(Desert, 15), (Arctic, 5)], 500, true, &["heal_burst", "overcharge_strike", "nanite_swarm"], "robots/nano/weaver_mk1.json"),
    bot("nano-swarm-drone", "Swarm Drone", Nano, T1, [81, 63, 40, 90], [10, 3], &[(Desert, 10)], 800, false, &["heal_burst", "overcharge_strike", "nanite_swarm", "focus_core"], "robots/nano/swarm_drone.json"),
    bot("nano-phantom", "Nano Phantom", Nano, T2, [101, 77, 45, 88], [11, 3], &[(Desert, 15), (City, 5)], 1500, false, &["heal_burst", "nanite_swarm", "self_assembly"], "robots/nano/phantom.json"),
    bot("nano-hive-mind", "Hive Mind", Nano, T2, [107, 66, 62, 57], [11, 3], &[(City, 10), (Desert, 5)], 1800, false, &["heal_burst", "barrier", "nanite_swarm", "self_assembly"], "robots/nano/hive_mind.json"),
    bot("nano-gray-goo", "Gray Goo", Nano, T3, [130, 80, 65, 50], [12, 3], &[(Desert, 20)], 3500, false, &["heal_burst", "overcharge_strike", "nanite_swarm", "self_assembly"], "robots/nano/gray_goo.json"),
    bot("nano-singularity-core", "Singularity Core", Nano, T3, [148, 88, 55, 72], [12, 4], &[(Desert, 15), (Arctic, 5)], 5000, false, &["heal_burst", "focus_core", "nanite_swarm", "self_assembly", "overcharge_strike"], "robots/nano/singularity_core.json"),
];
