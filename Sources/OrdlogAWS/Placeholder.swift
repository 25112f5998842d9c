public enum AWSPlaceholder {}
