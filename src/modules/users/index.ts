export { createUsersRepository, type UsersRepository, type UserRow, type UserPatch } from './users.repository.ts';
export { createUsersService, normaliseEmail, isValidEmail, type RegistrationOutcome, type User, type UsersService } from './users.service.ts';
export {
  createPasswordHasher,
  createPasswordPolicy,
  accountWords,
  OWASP_MINIMUM,
  PASSWORD_MIN_LENGTH,
  PASSWORD_MAX_LENGTH,
  type PasswordHasher,
  type PasswordPolicy,
  type HashCost,
} from './password.ts';
