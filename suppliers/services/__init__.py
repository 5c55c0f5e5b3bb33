"""Everything that changes the supplier registry: registration, classification and the
ownership review (registry), the self-service of a supplier's users (profile), invitations
of colleagues (invitations) and disputes of a RUC claim (disputes). Callers import from
here: `suppliers.services.<name>`."""

from .disputes import (
    MAX_OPEN_DISPUTES_PER_USER,
    dispute_ownership,
    keep_ownership_claim,
    may_dispute,
    require_may_dispute,
    transfer_ownership,
)
from .invitations import (
    INVITATION_VALIDITY,
    MAX_INVITATIONS_PER_DAY,
    accept_invitation,
    accept_invitation_with_new_account,
    invitation_token,
    invitation_url,
    invite_user,
    open_invitation,
    revoke_invitation,
)
from .profile import (
    MAX_CATEGORIES,
    approve_renewal,
    declarable_sales_years,
    declare_size,
    reject_renewal,
    request_renewal,
    update_profile,
)
from .registry import (
    REGISTRY_TERM,
    activate_registration,
    approve_ownership,
    classify_supplier,
    debarment_on,
    debarment_text,
    lapsed_registration_claims,
    may_act_in_processes,
    register_supplier,
    renew_registry,
    require_may_act_in_processes,
)
from .sme_standing import SmeStanding, sme_rule_in_force, sme_standing_on

__all__ = [
    "INVITATION_VALIDITY",
    "MAX_CATEGORIES",
    "MAX_INVITATIONS_PER_DAY",
    "MAX_OPEN_DISPUTES_PER_USER",
    "REGISTRY_TERM",
    "SmeStanding",
    "accept_invitation",
    "accept_invitation_with_new_account",
    "activate_registration",
    "approve_ownership",
    "approve_renewal",
    "classify_supplier",
    "declarable_sales_years",
    "debarment_on",
    "debarment_text",
    "declare_size",
    "dispute_ownership",
    "invitation_token",
    "invitation_url",
    "invite_user",
    "keep_ownership_claim",
    "lapsed_registration_claims",
    "may_act_in_processes",
    "may_dispute",
    "open_invitation",
    "register_supplier",
    "reject_renewal",
    "renew_registry",
    "request_renewal",
    "require_may_act_in_processes",
    "require_may_dispute",
    "revoke_invitation",
    "sme_rule_in_force",
    "sme_standing_on",
    "transfer_ownership",
    "update_profile",
]
