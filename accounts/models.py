"""Accounts: users log in with their e-mail; what they may do comes from memberships."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **fields):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True, is_active=True)
        fields.setdefault("email_verified_at", timezone.now())
        return self._create_user(email, password, **fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("e-mail address"), max_length=254, unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive accounts cannot log in.")
    )
    is_staff = models.BooleanField(
        _("admin site access"), default=False, help_text=_("May log in to the admin site.")
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True)
    # Made by the public registration form (not by an admin): only such an account, while
    # never confirmed and never used, may lapse and be replaced by a new registration.
    self_registered = models.BooleanField(_("self-registered"), default=False, editable=False)
    # The language of the notices the portal e-mails the user (a subscription has its own).
    language = models.CharField(
        _("language of the e-mails"), max_length=5, choices=settings.LANGUAGES, default="es"
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def save(self, *args, **kwargs):
        # Stored in lower case so the unique index is case-insensitive in effect.
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_plain_account(self) -> bool:
        """A journalist's or citizen's account: no membership, so it acts for no supplier
        or entity; it may follow processes and subscribe, never register or bid."""
        return not self.memberships.exists()


class Role(models.TextChoices):
    ENTITY_STAFF = "entity_staff", _("Entity staff")
    # Resolves the appeals of the entity's processes up to the tribunal's threshold.
    ENTITY_HEAD = "entity_head", _("Entity head (appeals)")
    SUPPLIER_USER = "supplier_user", _("Supplier user")
    AUDITOR = "auditor", _("Auditor")
    ADMIN = "admin", _("Administrator")
    # The national tribunal (Tribunal de Contrataciones del Estado): resolves the appeals of
    # processes above the threshold (procurement.rules), for every entity.
    TRIBUNAL = "tribunal", _("National tribunal (appeals)")


class Membership(models.Model):
    """What a user may act as: staff of one entity, user of one supplier, auditor or admin."""

    user = models.ForeignKey(User, models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    entity = models.ForeignKey(
        "procurement.Entity", models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier", models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                name="membership_scope_matches_role",
                condition=(
                    models.Q(
                        role__in=["entity_staff", "entity_head"],
                        entity__isnull=False,
                        supplier__isnull=True,
                    )
                    | models.Q(role="supplier_user", supplier__isnull=False, entity__isnull=True)
                    | models.Q(
                        role__in=["auditor", "admin", "tribunal"],
                        entity__isnull=True,
                        supplier__isnull=True,
                    )
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "entity"],
                condition=models.Q(role="entity_staff"),
                name="membership_unique_staff_per_entity",
            ),
            models.UniqueConstraint(
                fields=["user", "entity"],
                condition=models.Q(role="entity_head"),
                name="membership_unique_head_per_entity",
            ),
            models.UniqueConstraint(
                fields=["user", "supplier"],
                condition=models.Q(role="supplier_user"),
                name="membership_unique_user_per_supplier",
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(role__in=["auditor", "admin", "tribunal"]),
                name="membership_unique_global_role",
            ),
        ]

    def __str__(self) -> str:
        scope = self.entity or self.supplier
        return f"{self.user} · {self.get_role_display()}" + (f" · {scope}" if scope else "")


class ThrottleCounter(models.Model):
    """Recent failed attempts (logins, registrations, password resets) of one account or
    one client address, kept in the database so every process sees the same count; see
    accounts.throttle for the delays they cause."""

    scope = models.CharField(_("scope"), max_length=40)
    key = models.CharField(_("key"), max_length=254)
    failures = models.PositiveIntegerField(_("failures"), default=0)
    window_started_at = models.DateTimeField(_("window started"))
    last_failure_at = models.DateTimeField(_("last failure"))

    class Meta:
        verbose_name = _("throttle counter")
        verbose_name_plural = _("throttle counters")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="throttle_counter_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.failures}"
