"""Settings: every knob is a `VOXHUB_*` environment variable; sections group them in code."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from voxhub.core.addresses import is_loopback

_ENV = SettingsConfigDict(env_prefix="VOXHUB_", env_file=".env", extra="ignore")


class LimitSettings(BaseSettings):
    """What an upload or a request may contain; checked before any expensive work."""

    model_config = _ENV

    max_upload_bytes: int = 25 * 1024 * 1024
    max_reference_seconds: float = 300.0
    max_video_seconds: float = 600.0
    max_input_sample_rate: int = 48_000
    max_input_channels: int = 8
    min_speech_seconds: float = 3.0
    max_text_chars: int = 5_000
    max_job_text_chars: int = 100_000
    max_files_per_upload: int = 5
    # A voice upload has a dozen short form fields (tags may repeat); nothing needs more.
    max_form_fields: int = Field(32, ge=1)
    max_form_part_bytes: int = Field(64 * 1024, ge=1024)


class StorageSettings(BaseSettings):
    """Where blobs live: a local folder by default, or any S3-compatible store."""

    model_config = _ENV

    blob_store: Literal["local", "s3", "memory"] = "local"
    blob_dir: Path | None = None
    s3_endpoint_url: str | None = None
    s3_bucket: str = "voxhub"
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_prefix: str = ""
    # The sweep retries promised blob removals and removes blobs no row refers to; 0: never.
    sweep_interval_s: float = Field(300.0, ge=0)
    # Younger blobs may belong to an upload whose rows are not committed yet.
    sweep_grace_s: float = Field(3600.0, ge=60)


class EngineSettings(BaseSettings):
    """Which speech engines load, and the embedded engine's knobs."""

    # By field name too: `engine_concurrency` reads two variables (see there).
    model_config = SettingsConfigDict(**_ENV, populate_by_name=True)

    default_engine: str = "embedded"
    engines: list[str] = Field(default_factory=lambda: ["embedded"])
    # Failover: engine -> engines to speak with while it is down, in order, for voices that
    # have a profile there (JSON: {"elevenlabs": ["embedded"]}). An engine that fails to answer
    # is down for its Retry-After, or engine_down_s without one.
    engine_failover: dict[str, list[str]] = Field(default_factory=dict)
    engine_down_s: float = Field(30.0, gt=0, le=3600)
    kokoro_voices_dir: Path | None = None
    kokoro_download: bool = True
    engine_threads: int = 2
    # Pieces the embedded engine computes at once, all on its one model session; 0 picks for
    # the cores. VOXHUB_ENGINE_SESSIONS, its name from when each call had a session of its own,
    # is still read (deprecated: documented, so deployments set it); the new name wins.
    engine_concurrency: int = Field(
        0,
        ge=0,
        le=8,
        validation_alias=AliasChoices("VOXHUB_ENGINE_CONCURRENCY", "VOXHUB_ENGINE_SESSIONS"),
    )
    refine_profiles: bool = True
    refine_budget: int = Field(20, ge=0, le=200)  # syntheses tried by one refinement
    # The fake (test) engine waits this long per sentence, so multi-process tests catch jobs
    # mid-run; the real engines ignore it.
    fake_chunk_delay_s: float = Field(0.0, ge=0, le=10)
    # Scale-out: an API process holds no model and relays enrolment and speech to workers over
    # Redis. It waits this long for a worker to take a request (all busy: 503), and this long
    # between two pieces of audio once one did (the worker died: the stream ends with an error).
    engine_relay_wait_s: float = Field(30.0, gt=0)
    engine_relay_idle_s: float = Field(60.0, gt=0)
    # Relayed requests one worker serves at once, apart from its jobs' --concurrency.
    engine_relay_slots: int = Field(2, ge=1, le=64)

    # Remote engines (voxhub.engines.remote). Keys are secrets: never logged, never in errors.
    # openai_speech: any OpenAI-compatible speech server (POST {base}/audio/speech); it speaks
    # in the one configured remote voice, so every voice sounds the same there (no cloning).
    openai_speech_base_url: str = "http://127.0.0.1:8880/v1"
    openai_speech_api_key: SecretStr | None = None
    openai_speech_model: str = "tts-1"
    openai_speech_voice: str = "alloy"
    openai_speech_timeout_s: float = Field(30.0, gt=0)
    # fish_audio: a Fish Audio model is created from each voice's reference (POST /model) and
    # speech asks for it by reference_id; fish_audio_backend goes in the `model` header.
    fish_audio_base_url: str = "https://api.fish.audio"
    fish_audio_api_key: SecretStr | None = None
    fish_audio_backend: str = "s1"
    fish_audio_timeout_s: float = Field(60.0, gt=0)
    # elevenlabs: instant voice cloning (POST /v1/voices/add), then text to speech by voice_id.
    elevenlabs_base_url: str = "https://api.elevenlabs.io"
    elevenlabs_api_key: SecretStr | None = None
    elevenlabs_model: str = "eleven_multilingual_v2"
    elevenlabs_timeout_s: float = Field(60.0, gt=0)


def _env(*names: str) -> AliasChoices:
    # Seed systems' variable names are accepted beside voxhub's own.
    return AliasChoices(*names)


class SecuritySettings(BaseSettings):
    """Accounts and tokens."""

    model_config = _ENV

    auth: Literal["on", "off"] = "on"
    jwt_secret: SecretStr | None = Field(
        None, validation_alias=_env("VOXHUB_JWT_SECRET", "JWT_SECRET")
    )
    jwt_issuer: str = "voxhub"
    jwt_audience: str = "voxhub-api"
    jwt_leeway_s: int = 30
    # Users reach voxhub over HTTPS (also behind a TLS proxy): the web app's cookies are Secure
    # and __Host-/__Secure- prefixed (see voxhub.accounts.web_session).
    cookie_secure: bool = False
    access_token_ttl_s: int = 3600
    refresh_token_ttl_s: int = 30 * 24 * 3600
    tokens_to_give: int = Field(
        20, validation_alias=_env("VOXHUB_TOKENS_TO_GIVE", "TOKENS_TO_GIVE")
    )
    oidc_jwks_url: str | None = None
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    bootstrap_admin: bool = True
    # "open": anyone who reaches the server may create an account (POST /api/v1/auth/signup and
    # the seeds' sign-up faces); "closed": only admins create accounts (`voxhub users create`),
    # and identities from the OIDC provider, which decides who may sign in.
    signup: Literal["open", "closed"] = "open"
    # Seed 004: HMAC-signed internal calls, Firebase Auth and App Check feature flags.
    enable_hmac: bool = Field(
        False, validation_alias=_env("VOXHUB_ENABLE_HMAC", "SECURITY_ENABLE_HMAC")
    )
    hmac_secret: SecretStr | None = Field(
        None, validation_alias=_env("VOXHUB_HMAC_SECRET", "DAEZEND_API_SHARED_SECRET")
    )
    hmac_previous_secret: SecretStr | None = Field(
        None,
        validation_alias=_env("VOXHUB_HMAC_PREVIOUS_SECRET", "DAEZEND_API_PREVIOUS_SHARED_SECRET"),
    )
    hmac_max_skew_s: int = Field(
        300, validation_alias=_env("VOXHUB_HMAC_MAX_SKEW_SECONDS", "HMAC_MAX_SKEW_SECONDS")
    )
    enable_firebase_auth: bool = Field(
        False,
        validation_alias=_env("VOXHUB_ENABLE_FIREBASE_AUTH", "SECURITY_ENABLE_FIREBASE_AUTH"),
    )
    enable_app_check: bool = Field(
        False, validation_alias=_env("VOXHUB_ENABLE_APP_CHECK", "SECURITY_ENABLE_APP_CHECK")
    )
    app_check_jwks_url: str | None = None
    app_check_issuer: str | None = None
    app_check_audience: str | None = None
    idempotency_ttl_s: int = Field(
        86_400, validation_alias=_env("VOXHUB_IDEMPOTENCY_TTL_SECONDS", "IDEMPOTENCY_TTL_SECONDS")
    )
    allow_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("VOXHUB_ALLOW_ORIGINS", "ALLOW_ORIGINS")
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        validation_alias=_env("VOXHUB_ALLOWED_HOSTS", "ALLOWED_HOSTS"),
    )
    docs_enabled: bool = True

    @field_validator("allow_origins", "allowed_hosts", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        # Seeds write these as comma-separated lists; a JSON list works too.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value


class RateLimitSettings(BaseSettings):
    """Requests per minute per principal (per IP when anonymous); seed 004's variable names."""

    model_config = _ENV

    enabled: bool = Field(
        True, validation_alias=_env("VOXHUB_RATE_LIMITS_ENABLED", "RATE_LIMIT_ENABLED")
    )
    default_per_minute: int = Field(
        60,
        validation_alias=_env(
            "VOXHUB_RATE_LIMIT_DEFAULT_PER_MINUTE", "RATE_LIMIT_DEFAULT_PER_MINUTE"
        ),
    )
    clone_per_minute: int = Field(
        5,
        validation_alias=_env("VOXHUB_RATE_LIMIT_CLONE_PER_MINUTE", "RATE_LIMIT_CLONE_PER_MINUTE"),
    )
    tts_per_minute: int = Field(
        10, validation_alias=_env("VOXHUB_RATE_LIMIT_TTS_PER_MINUTE", "RATE_LIMIT_TTS_PER_MINUTE")
    )
    login_per_minute: int = Field(5, validation_alias=_env("VOXHUB_RATE_LIMIT_LOGIN_PER_MINUTE"))


class JobSettings(BaseSettings):
    """How jobs are leased, retried, timed out and shared between accounts."""

    model_config = _ENV

    # A worker's claim on a job lasts this long and is renewed every third of it; a worker that
    # dies loses the job to another after at most this long.
    job_lease_s: float = Field(30.0, gt=0)
    # How often the sweep looks for expired leases and ids the queue lost.
    job_sweep_interval_s: float = Field(5.0, gt=0)
    # A queued job not picked up for this long is handed to the queue again.
    job_requeue_after_s: float = Field(60.0, gt=0)
    job_max_attempts: int = Field(3, ge=1)
    job_retry_delay_s: float = Field(1.0, ge=0)
    # Per kind, seconds a run may take before it counts as a failed attempt.
    job_timeouts: dict[str, float] = Field(
        default_factory=lambda: {"speech.synthesize": 600.0, "voice.refine": 900.0}
    )
    job_default_timeout_s: float = Field(900.0, gt=0)
    # On SIGTERM a worker finishes its running jobs for this long, then hands them back.
    job_shutdown_grace_s: float = Field(30.0, ge=0)
    # So one account cannot fill the queue: beyond these, submissions answer 429.
    jobs_running_per_user: int = Field(2, ge=1)
    jobs_queued_per_user: int = Field(20, ge=1)
    # "memory": jobs run in the API process (embedded). "redis": job ids go to Redis and
    # `voxhub worker` processes run them (scale-out). "auto": redis when VOXHUB_REDIS_URL is set.
    job_queue: Literal["auto", "memory", "redis"] = "auto"
    # Redis queue (scale-out): the queue's name, shared by API processes and workers.
    job_queue_name: str = "voxhub"


class CreditSettings(BaseSettings):
    """Prices in credits; 0 makes an operation free. Sign-up grants `tokens_to_give`."""

    model_config = _ENV

    price_speech_per_1k_chars: int = Field(1, ge=0)
    price_clone: int = Field(1, ge=0)
    price_video: int = Field(1, ge=0)  # seed 001: "1 token per video"
    price_llm_call: int = Field(0, ge=0)


class WebhookSettings(BaseSettings):
    """Where job results may be POSTed and how hard voxhub tries."""

    model_config = _ENV

    # Private, loopback and link-local destinations are refused unless allowed here.
    webhook_allow_private: bool = False
    webhook_max_attempts: int = Field(6, ge=1)
    webhook_backoff_s: float = Field(2.0, ge=0)
    webhook_timeout_s: float = Field(10.0, gt=0)
    webhook_secret: SecretStr | None = None


class LlmSettings(BaseSettings):
    """Which language model writes chat replies: embedded, or an OpenAI-compatible server."""

    model_config = _ENV

    # "embedded": SmolLM2-135M shipped as a wheel, on this CPU (no download, no setup; weak
    # writing). "openai": any OpenAI-compatible endpoint (llama.cpp server, Ollama, vLLM, OpenAI).
    llm_backend: Literal["embedded", "openai"] = "embedded"
    llm_base_url: str | None = None  # e.g. http://127.0.0.1:11434/v1 for Ollama
    llm_api_key: SecretStr | None = None  # local servers accept any key
    llm_model: str | None = None
    # One request to the endpoint (connect, first token, each chunk) may take this long.
    llm_timeout_s: float = Field(60.0, gt=0)
    # A reply stops at this many tokens (finish_reason "length") whatever a caller asks.
    llm_max_reply_tokens: int = Field(512, ge=1, le=32_768)
    # Prompt and reply together fit in this many tokens; 0 takes the model's own window.
    llm_context_tokens: int = Field(0, ge=0)
    # Decode threads of the embedded model (0: torch's default). Decoding is bound by memory
    # bandwidth, and a second thread fighting speech synthesis for a core made it slower.
    llm_threads: int = Field(1, ge=0, le=64)
    # A file to run instead of the packaged one (a llama-architecture GGUF, e.g. a bigger SmolLM2).
    llm_model_path: Path | None = None


class RenderSettings(BaseSettings):
    """How a script becomes dialogue audio and video (voxhub.renders)."""

    model_config = _ENV

    # The final mix's integrated loudness and true-peak ceiling (streaming platforms' -16/-1).
    render_target_lufs: float = Field(-16.0, ge=-40.0, le=-5.0)
    render_true_peak_dbtp: float = Field(-1.0, ge=-9.0, le=0.0)
    # Every line is brought to this level before the mix, so voices sit at one level.
    render_line_lufs: float = Field(-20.0, ge=-40.0, le=-5.0)
    # Silence between lines when the script asks for no pause of its own.
    render_gap_ms: int = Field(250, ge=0, le=10_000)
    # Tries of one line when the engine fails on it, before the render fails naming the line.
    render_line_attempts: int = Field(2, ge=1, le=5)
    # A background clip's frame may have at most this many pixels (its length and size are
    # capped like any upload: max_video_seconds, max_upload_bytes).
    render_background_max_pixels: int = Field(3840 * 2160, gt=0)


class NeuralSettings(BaseSettings):
    """The neural engines (voxhub.engines.neural): where their weights are and what runs them.

    A weights setting is a local path or `hf://<owner>/<repo>/<file>[@revision]` (Chatterbox: a
    local folder or a hub repo id); each engine reads it in `load`, on the worker that runs it.
    """

    model_config = _ENV

    # "auto": the first CUDA device when torch sees one, else the CPU; or "cpu", "cuda", "cuda:1".
    neural_device: str = "auto"
    # Synthesise one short phrase in `load`, so the first request does not pay for kernel set-up.
    neural_warm_up: bool = True
    # Reference speech each zero-shot profile keeps (the rest is cut off) and the least it takes.
    neural_min_reference_s: float = Field(3.0, gt=0, le=30)
    neural_max_reference_s: float = Field(12.0, gt=0, le=60)
    # F5-TTS: the DiT checkpoint, its architecture (a config name in the f5_tts package), the
    # vocab (empty: the package's) and the Vocos vocoder (a folder with config.yaml and
    # pytorch_model.bin; empty: charactr/vocos-mel-24khz from the hub).
    f5_checkpoint: str = "hf://SWivid/F5-TTS/F5TTS_v1_Base/model_1250000.safetensors"
    f5_model: str = "F5TTS_v1_Base"
    f5_vocab: str = ""
    f5_vocoder_dir: str = ""
    f5_nfe_steps: int = Field(32, ge=1, le=128)
    f5_cfg_strength: float = Field(2.0, ge=0, le=10)
    # Chatterbox (English): a folder holding ve/t3_cfg/s3gen .safetensors and tokenizer.json,
    # or the hub repo they come from.
    chatterbox_weights: str = "ResembleAI/chatterbox"
    chatterbox_exaggeration: float = Field(0.5, ge=0, le=2)
    chatterbox_cfg_weight: float = Field(0.5, ge=0, le=2)
    chatterbox_temperature: float = Field(0.8, gt=0, le=2)
    # Speech tokens (25 a second) allowed per character of a sentence, so a model that never
    # says stop ends anyway (Chatterbox's own bound is 1000 tokens, 40 s, for any sentence).
    # Speech runs 12-15 characters a second, 1.7-2.1 tokens a character: 3 leaves room.
    chatterbox_tokens_per_char: float = Field(3.0, gt=0, le=10)
    # pocket-tts: a language of the package's configs ("english", "french", ...) or a YAML
    # config path (its weights_path entries local paths or hf:// URLs).
    pocket_config: str = "english"
    pocket_quantize: bool = False


class ConsentSettings(BaseSettings):
    """What a new voice must show before it is cloned (voxhub.safety.consent)."""

    model_config = _ENV

    # Unset, it follows the instance: "spoken" where strangers can sign up (Settings.
    # public_signup), "attestation" otherwise (see Settings._consent_follows_signup).
    # "attestation": every new voice carries "I am the speaker" or "I have the speaker's written
    # permission" (a standing one for the seeds' faces); "spoken": the speaker also reads a
    # challenge phrase, checked against the reference; "off": nothing asked, only for a private
    # single-user instance on a loopback address (refused elsewhere at start-up).
    consent_policy: Literal["attestation", "spoken", "off"] = "attestation"
    # Consent rows outlive the voice they cover: they are the evidence if a clone is disputed,
    # and disputes and legal holds run for years (statutes of limitation are commonly up to ten).
    consent_retention_days: int = Field(3650, ge=1)


class Settings(BaseSettings):
    """The whole configuration; `Settings()` reads the environment."""

    model_config = _ENV

    env: Literal["dev", "test", "prod"] = "dev"
    home: Path = Path(".voxhub")
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None
    working_sample_rate: int = 24_000
    job_workers: int = 1
    redis_url: str | None = None
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with job_id
    metrics_token: SecretStr | None = None  # /metrics bearer token (observability/router.py)
    # How this instance names itself to people, e.g. in the consent statement a speaker reads
    # ("I give my consent to use my voice with <instance_name>").
    instance_name: str = Field("voxhub", min_length=1, max_length=80)

    limits: LimitSettings = Field(default_factory=LimitSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    credits: CreditSettings = Field(default_factory=CreditSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    renders: RenderSettings = Field(default_factory=RenderSettings)
    neural: NeuralSettings = Field(default_factory=NeuralSettings)
    consent: ConsentSettings = Field(default_factory=ConsentSettings)

    @model_validator(mode="after")
    def _consent_follows_signup(self) -> Settings:
        # A public sign-up instance lets strangers upload anyone's recording, so there an
        # attestation alone is too weak a default: the speaker must read a phrase as well. An
        # explicit VOXHUB_CONSENT_POLICY always wins.
        if "consent_policy" not in self.consent.model_fields_set and self.public_signup:
            self.consent = self.consent.model_copy(update={"consent_policy": "spoken"})
        return self

    @property
    def public_signup(self) -> bool:
        """Whether strangers can make accounts: sign-up open, and the server reachable beyond
        this machine (bound to another address, or served over HTTPS through a TLS proxy on
        loopback, which VOXHUB_COOKIE_SECURE says)."""
        reachable = not is_loopback(self.host) or self.security.cookie_secure
        return self.security.signup == "open" and reachable

    @property
    def queue_backend(self) -> Literal["memory", "redis"]:
        """Where job ids go: Redis (scale-out) or this process."""
        mode = self.jobs.job_queue
        if mode == "auto":
            return "redis" if self.redis_url else "memory"
        return mode

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under `home`."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.home / 'voxhub.db').resolve()}"

    @cached_property
    def resolved_blob_dir(self) -> Path:
        """The local blob folder, defaulting to `home/blobs`."""
        return (self.storage.blob_dir or self.home / "blobs").resolve()

    @cached_property
    def cache_dir(self) -> Path:
        """Where reassembled models and downloaded packs are cached."""
        return (self.home / "cache").resolve()
