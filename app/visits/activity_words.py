"""The words of La Coop de la médiation numérique's values as the staff read them, on the
form that finishes a visit and on the figures page (`label()` translates them)."""

from __future__ import annotations

from app.i18n import N_

AUTONOMY = {
    "entierement_accompagne": N_("Entièrement accompagnée"),
    "partiellement_autonome": N_("Partiellement autonome"),
    "autonome": N_("Autonome"),
}
EQUIPMENT = {
    "ordinateur": N_("Ordinateur"),
    "telephone": N_("Téléphone"),
    "tablette": N_("Tablette"),
    "autre": N_("Autre matériel"),
    "aucun": N_("Aucun matériel"),
}
THEMES = {
    "diagnostic_numerique": N_("Diagnostic numérique"),
    "prendre_en_main_du_materiel": N_("Prendre en main du matériel"),
    "maintenance_de_materiel": N_("Entretenir son matériel"),
    "gere_ses_contenus_numeriques": N_("Gérer ses contenus numériques"),
    "navigation_sur_internet": N_("Naviguer sur internet"),
    "email": N_("E-mail"),
    "bureautique": N_("Bureautique"),
    "reseaux_sociaux": N_("Réseaux sociaux et communication"),
    "sante": N_("Santé en ligne"),
    "banque_et_achats_en_ligne": N_("Banque et achats en ligne"),
    "entrepreneuriat": N_("Accompagner un professionnel"),
    "insertion_professionnelle": N_("Insertion professionnelle"),
    "securite_numerique": N_("Sécurité numérique"),
    "parentalite": N_("Parentalité"),
    "scolarite_et_numerique": N_("Scolarité et numérique"),
    "creer_avec_le_numerique": N_("Créer avec le numérique"),
    "culture_numerique": N_("Culture numérique"),
    "intelligence_artificielle": N_("Intelligence artificielle"),
    "aide_aux_demarches_administratives": N_("Aide aux démarches administratives"),
    "papiers_elections_citoyennete": N_("Papiers, élections, citoyenneté"),
    "famille_scolarite": N_("Famille, scolarité"),
    "social_sante": N_("Social, santé"),
    "travail_formation": N_("Travail, formation"),
    "logement": N_("Logement"),
    "transports_mobilite": N_("Transports, mobilité"),
    "argent_impots": N_("Argent, impôts"),
    "justice": N_("Justice"),
    "etrangers_europe": N_("Étrangers, Europe"),
    "loisirs_sports_culture": N_("Loisirs, sports, culture"),
    "associations": N_("Associations"),
}
REFERRALS = {
    "administration": N_("Une administration"),
    "mediation_numerique": N_("Un lieu de médiation numérique"),
    "operateur_ou_organisme_en_charge": N_("L'organisme en charge de la démarche"),
    "aide_sociale": N_("Une structure d'aide sociale"),
    "insertion_professionnelle": N_("Une structure d'insertion professionnelle"),
    "aide_aux_demarches_administratives": N_("Une structure d'aide aux démarches"),
    "autre": N_("Une autre structure"),
}
AGE_BANDS = {
    "moins_de_douze": N_("Moins de 12 ans"),
    "douze_dix_huit": N_("12 à 17 ans"),
    "dix_huit_vingt_quatre": N_("18 à 24 ans"),
    "vingt_cinq_trente_neuf": N_("25 à 39 ans"),
    "quarante_cinquante_neuf": N_("40 à 59 ans"),
    "soixante_soixante_neuf": N_("60 à 69 ans"),
    "soixante_dix_plus": N_("70 ans et plus"),
    "non_communique": N_("Non communiqué"),
}
SOCIAL_STATUSES = {
    "scolarise": N_("Scolarisée ou étudiante"),
    "sans_emploi": N_("Sans emploi"),
    "en_emploi": N_("En emploi"),
    "retraite": N_("Retraitée"),
    "non_communique": N_("Non communiqué"),
}
# What the form says of each refusal of an activity record, by its code.
REFUSALS = {
    "theme_unknown": N_("Un des thèmes choisis n'existe pas : choisissez-les dans la liste."),
    "theme_required": N_("Cochez au moins un thème de l'accompagnement."),
    "equipment_unknown": N_("Un des matériels choisis n'existe pas : choisissez dans la liste."),
    "minutes_invalid": N_("Durée : un nombre de minutes, de 1 à %(num)d."),
    "autonomy_invalid": N_("Choisissez l'autonomie de la personne dans la liste."),
    "referral_invalid": N_("Choisissez la structure vers laquelle la personne est orientée."),
    "age_band_invalid": N_("Choisissez la tranche d'âge dans la liste."),
    "social_status_invalid": N_("Choisissez le statut dans la liste."),
}
